# Switchboard developer tasks. `make test` is the command CI runs.
GO            ?= go
STATICCHECK   ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
VERSION       ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT        ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DATE          ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS       := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)

.PHONY: build run test lint fuzz bench loadgen

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/switchboard ./cmd/switchboard
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/loadgen ./cmd/loadgen

run:
	$(GO) run ./cmd/switchboard serve

# Uses the Redis at $$REDIS_URL when set (each test claims and flushes its
# own database), else an embedded in-memory Redis.
test:
	$(GO) test -race -count=1 -timeout 20m ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# Each fuzz target for FUZZTIME (default 30s).
FUZZTIME ?= 30s
fuzz:
	for p in whatsapp telegram twilio webchat; do \
		$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./channels/$$p/ || exit 1; \
		$(GO) test -run='^$$' -fuzz='^FuzzVerify$$' -fuzztime=$(FUZZTIME) ./channels/$$p/ || exit 1; \
	done
	$(GO) test -run='^$$' -fuzz='^FuzzInbound$$' -fuzztime=$(FUZZTIME) ./channels/whatsmeow/

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...
