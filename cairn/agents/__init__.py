"""Agents: profiles, how an argv is built from one, and the scripted demo agent."""
