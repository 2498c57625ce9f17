"""Frames to Policies helper package."""
