"""Training data: MusicNet-layout corpora, their labels, and the FluidSynth corpus builder."""
