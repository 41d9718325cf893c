"""harness/mutants"""
