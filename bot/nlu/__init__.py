"""Our Rasa NLU components (config.yml names each by its module: bot.nlu.<module>.<Class>)."""
