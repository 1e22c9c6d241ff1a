"""Marketplace simulation and benchmarks."""
