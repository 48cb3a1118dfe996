"""Project scripts: the emulated AWS endpoint (moto in server mode) and the deploy rehearsal."""
