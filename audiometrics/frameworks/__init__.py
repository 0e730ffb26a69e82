"""What a training library means: learner factories, training methods, defaults."""
