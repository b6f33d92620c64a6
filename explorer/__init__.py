"""The Caption Lab app shell: routing, shared state, background runs and UI components."""
