# corofpm: one test command (make test), benchmarks, fuzzing and the docs.

GO       ?= go
# Every package but the labs: their untouched skeletons fail their graders
# by design, so they run only in labs-check (tutorial/labs/README.md).
PKGS     ?= $(shell $(GO) list -e ./... | grep -v /tutorial/labs/)
# How long each fuzz target runs: short in make test, longer in make fuzz.
# Minimizing a new input is bounded too: by default it may take 60 s.
FUZZTIME ?= 5s
# Where make docs-serve serves the site.
DOCS_ADDR ?= 127.0.0.1:8000
# Every fuzz target, as package:Target.
FUZZ_TARGETS = \
	./net/fastcgi:FuzzReadRecord \
	./net/fastcgi:FuzzDecodeParams \
	./net/fastcgi:FuzzConn \
	./fpm/config:FuzzParse

.PHONY: test vet unit fuzz bench bench-fpm bench-echo docs docs-serve help lab labs-check

help:
	@echo "make test    vet, every test with -race (real peers: nginx, cgi-fcgi, curl), short fuzz runs"
	@echo "make bench   benchmarks (go test -bench), then make bench-fpm and make bench-echo"
	@echo "make bench-fpm  corofpm (blocking and coroutine) against php-fpm, net/http/fcgi and nginx alone (wrk; ~10 min, BENCH_QUICK=1 ~3)"
	@echo "make bench-echo net/reactor against gnet and net.Conn: echo, idle memory, timers (~1 min)"
	@echo "make fuzz    each fuzz target for FUZZTIME (default 5s; try FUZZTIME=2m)"
	@echo "make docs    the reading-along site in site/: every chapter run with -quick for its page"
	@echo "make docs-serve  the same, then serve it on http://$(DOCS_ADDR)/ until ^C"
	@echo "make lab N=03    grade your solution of lab 03 (tutorial/labs/)"
	@echo "make labs-check  every lab's grader passes on its reference and fails on its skeleton"

test: vet unit labs-check
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
	$(GO) test -run '^$$' -bench . -benchmem $$($(GO) list $(PKGS) | grep -v '/tutorial/bench$$')
	@$(MAKE) --no-print-directory bench-fpm
	@$(MAKE) --no-print-directory bench-echo

# Side-by-side runs with real peers (nginx, wrk, php8.2-fpm): one table each.
bench-fpm:
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 20m ./tutorial/bench

# net/reactor against gnet and a goroutine per net.Conn. A module of its
# own, so that gnet stays out of go.mod and out of go test ./... here.
bench-echo:
	cd tutorial/bench/echo && $(GO) test -run '^$$' -bench . -benchtime 1x -timeout 5m .

docs:
	$(GO) run ./docs/site/cmd/site -out site

docs-serve:
	$(GO) run ./docs/site/cmd/site -out site -serve $(DOCS_ADDR)

# One lab's grader against the code in its lab.go.
lab:
	@test -n "$(N)" || { echo "usage: make lab N=03 (the labs: ls tutorial/labs)"; exit 2; }
	$(GO) test -race -count=1 -v -run 'Lab$(N)' ./tutorial/labs/$(N)-*/

labs-check:
	@GO=$(GO) bash tutorial/labs/check.sh
