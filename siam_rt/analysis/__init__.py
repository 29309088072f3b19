"""Analysis of whole recordings into one timeline of events, and resynthesis from such a timeline (no torch)."""
