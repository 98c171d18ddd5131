"""Training the answer reader: a cross-encoder that reads a question and a sentence."""
