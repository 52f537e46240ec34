"""Topology files and the fleet runner."""
