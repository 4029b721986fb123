"""The one writer around the pure routing core: commands in, engine, persist, then publish."""
