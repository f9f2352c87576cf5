"""Draft writers: one interface (base.py), a template writer, and the Anthropic writer, the only
module that imports the Anthropic SDK. Built in container.py."""
