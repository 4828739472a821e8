"""sandboxctl's in-container runner for Beancount 2 plugins, loader and finalizer."""
