# Each target sets up what it needs on a fresh Debian machine, then runs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Canaille (a second, quirkier SCIM server for the tests) needs scim2-models 0.9, so it lives
# in its own venv.
CANAILLE := .venv-canaille
CANAILLE_STAMP := $(CANAILLE)/.installed
SCALE ?= default
# WeasyPrint needs Pango (pangoft2) and fonts; the tests read PDFs with poppler-utils.
APT_PKGS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core poppler-utils qpdf rsyslog rsyslog-gnutls unzip
# The tests' Elasticsearch node is a JVM on jars Maven resolves (tests/es): Java 17+ and Maven.
JAVA_PKGS := openjdk-17-jdk-headless maven

.PHONY: demo test soak bench lint sysdeps venv clean javadeps esnode

sysdeps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing system packages; run: sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

javadeps:
	@if ! command -v javac >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq; pkgs="$(JAVA_PKGS)"; \
	    apt-cache show openjdk-17-jdk-headless >/dev/null 2>&1 || pkgs="default-jdk-headless maven"; \
	    echo "installing: $$pkgs"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$pkgs >/dev/null; \
	  else \
	    echo "missing Java or Maven; run: sudo apt-get install -y $(JAVA_PKGS)"; exit 1; \
	  fi; \
	fi

# Resolve the node's Maven classpath and compile its runner before pytest starts.
esnode: javadeps venv
	$(BIN)/python -m tests.es.node

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

venv: $(STAMP)

$(CANAILLE_STAMP): tests/servers/canaille-constraints.txt
	@test -x $(CANAILLE)/bin/python || $(PY) -m venv $(CANAILLE)
	$(CANAILLE)/bin/pip install -q 'canaille[front,oidc,scim]==0.3.6' scim2-models==0.9.0 \
	  pytest-iam==0.3.0 -c tests/servers/canaille-constraints.txt
	@touch $@

demo: sysdeps venv
	$(BIN)/evidence demo --out demo-out

# --durations: the slowest tests, to keep the suite within its 20-minute budget on 2 cores.
test: sysdeps venv $(CANAILLE_STAMP) esnode
	$(BIN)/python -m pytest -q --durations=25

# The long runs at full size: fuzzing, kills, outages (tests marked soak; tests/soak.py).
soak: sysdeps venv $(CANAILLE_STAMP) esnode
	EVIDENCE_SOAK=1 $(BIN)/python -m pytest -q -m soak

bench: sysdeps venv
	$(BIN)/python -m tests.bench --scale $(SCALE) --out bench-out

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf demo-out bench-out .pytest_cache
