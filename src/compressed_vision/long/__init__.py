"""Hour-long videos, whole: the walking-tour generator, streaming a long video into a store,
the chunk-then-sequence models, their tasks, the memory estimate and the demo."""
