"""Performance runs that print absolute figures and ratios to a baseline measured in the same run."""
