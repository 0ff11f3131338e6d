"""A mutation fuzzer for Playground's model loader (see driver.py for how to run it)."""
