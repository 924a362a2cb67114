"""The benchmarks: each measurement as a library call (`cvis bench ...` runs them; the
scripts in benchmarks/ are thin wrappers), written through `report`."""
