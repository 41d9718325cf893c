"""harness/checks"""
