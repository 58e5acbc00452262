"""Real servers started by test fixtures."""
