"""Quality filtering: heuristic text filters per language, URL blocklists and TDM opt-outs."""
