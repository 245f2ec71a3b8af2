"""Spec parsing, validation and decomposition into sections and assertions."""

from pipeline.spec.parse import Rule, Section, Spec, SpecError, load_spec

__all__ = ["Rule", "Section", "Spec", "SpecError", "load_spec"]
