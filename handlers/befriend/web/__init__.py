"""The thin HTTP edge: the app factory, one blueprint per audience, problem mapping."""
