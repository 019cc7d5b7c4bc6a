"""The named parts of the training loop: run state, progress meter, checkpointer, sample writer and hooks."""
