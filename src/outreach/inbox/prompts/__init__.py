"""The prompts a model categorizes replies with, one module per version (categorize_v1.py, ...).

A version is never edited once replies were categorized with it: a change to the wording or the
tool is a new module with a new VERSION, so that `reply_categorizations.prompt_version` always
names the text a category came from.
"""
