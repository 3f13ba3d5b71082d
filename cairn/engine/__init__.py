"""The engine: runners that carry one task each, and the scheduler that starts them."""
