"""harness/run"""
