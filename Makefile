# corofpm: one test command (make test), benchmarks, fuzzing and the docs.

GO       ?= go
PKGS     ?= ./...
# How long each fuzz target runs: short in make test, longer in make fuzz.
# Minimizing a new input is bounded too: by default it may take 60 s.
FUZZTIME ?= 5s
# Every fuzz target, as package:Target.
FUZZ_TARGETS = \
	./net/fastcgi:FuzzReadRecord \
	./net/fastcgi:FuzzDecodeParams \
	./net/fastcgi:FuzzConn \
	./fpm/config:FuzzParse

.PHONY: test vet unit fuzz bench docs help

help:
	@echo "make test    vet, every test with -race (real peers: nginx, cgi-fcgi, curl), short fuzz runs"
	@echo "make bench   benchmarks (go test -bench)"
	@echo "make fuzz    each fuzz target for FUZZTIME (default 5s; try FUZZTIME=2m)"
	@echo "make docs    the chapter pages"

test: vet unit
	@$(MAKE) --no-print-directory fuzz

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet $(PKGS)

unit:
	$(GO) test -race -count=1 -timeout 10m $(PKGS)

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name for $(FUZZTIME)"; \
		$(GO) test $$pkg -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

docs:
	@ls docs/*.md
