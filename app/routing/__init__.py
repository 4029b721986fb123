"""The pure routing core: standard library only, `now` passed in, every call returns events."""
