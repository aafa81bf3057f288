package whatsmeow

import (
	"context"
	"fmt"
	"log/slog"

	waLog "go.mau.fi/whatsmeow/util/log"
)

// slogLogger sends whatsmeow's logs to slog. whatsmeow's lines name JIDs,
// which are phone numbers, so everything it says is logged at debug; its
// errors are also logged at warn, by their format string alone, so an SRE
// sees that something failed without the numbers.
type slogLogger struct{ l *slog.Logger }

func waLogger(l *slog.Logger) waLog.Logger { return slogLogger{l} }

func (s slogLogger) Debugf(msg string, args ...any) { s.l.Debug(fmt.Sprintf(msg, args...)) }
func (s slogLogger) Infof(msg string, args ...any)  { s.l.Debug(fmt.Sprintf(msg, args...)) }
func (s slogLogger) Warnf(msg string, args ...any)  { s.l.Debug(fmt.Sprintf(msg, args...)) }

func (s slogLogger) Errorf(msg string, args ...any) {
	if s.l.Enabled(context.Background(), slog.LevelDebug) {
		s.l.Debug(fmt.Sprintf(msg, args...))
	}
	s.l.Warn("whatsmeow error (details at debug level)", "format", msg)
}

func (s slogLogger) Sub(module string) waLog.Logger {
	return slogLogger{s.l.With("module", module)}
}
