"""image/build's modules: archive (apt), and the shared helpers in util."""
