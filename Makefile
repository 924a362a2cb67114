# The README's two commands: `make demo` and `make test`. Each sets up .venv if missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TORCH_PINS := torch==2.14.1 torchvision==0.29.1

.PHONY: demo test lint format setup clean weights

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_PINS)
	$(PY) -m pip install --quiet -e '.[dev]' $(TORCH_PINS)
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/cvis demo $(ARGS)

test: $(STAMP)
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m pytest $(ARGS)

lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m ruff format --check src tests benchmarks

format: $(STAMP)
	$(PY) -m ruff format src tests benchmarks
	$(PY) -m ruff check --fix src tests benchmarks

clean:
	rm -rf $(VENV) build dist *.egg-info src/*.egg-info

# The shipped codecs and their lossless priors, retrained from their recipes (`cvis codec
# list` shows them; the data is ../shared/data). 2 CPU cores: hours; a GPU: minutes. A killed run resumes.
weights: $(STAMP)
	for p in cr240 cr30 cr480; do \
	  $(VENV)/bin/cvis codec reproduce $$p --out runs/weights \
	    --export src/compressed_vision/weights || exit 1; \
	  $(VENV)/bin/cvis codec prior --codec $$p --data ../shared/data/photos --clips 500 \
	    --steps 8000 --seed 0 \
	    --out src/compressed_vision/weights/prior_$$p.safetensors || exit 1; \
	done
