"""harness/probes"""
