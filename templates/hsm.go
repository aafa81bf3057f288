package templates

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// HSM template categories, as Meta names them.
const (
	CategoryMarketing      = "marketing"
	CategoryUtility        = "utility"
	CategoryAuthentication = "authentication"
)

// HSM is a provider-approved message template: the only kind of message
// that may be sent once 24 hours have passed since the customer wrote.
type HSM struct {
	// Name is how operators refer to it, e.g. payment_reminder.
	Name     string
	Language string
	Category string
	// Body is the approved text with numbered parameters {{1}}, {{2}}, ...
	Body string
	// ProviderName is the template's name at the provider (default Name).
	ProviderName string
	// Params is how many parameters Body takes.
	Params int
}

var numbered = regexp.MustCompile(`\{\{\s*([^}]*?)\s*\}\}`)

// ParseHSM validates a template: a known category, a body whose
// parameters are numbered 1..n without gaps.
func ParseHSM(h HSM) (*HSM, error) {
	var errs []error
	switch h.Category {
	case CategoryMarketing, CategoryUtility, CategoryAuthentication:
	default:
		errs = append(errs, fmt.Errorf("category: must be marketing, utility or authentication, got %q", h.Category))
	}
	if strings.TrimSpace(h.Body) == "" {
		errs = append(errs, errors.New("body: required"))
	}
	seen := map[int]bool{}
	for _, m := range numbered.FindAllStringSubmatch(h.Body, -1) {
		n, err := strconv.Atoi(m[1])
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("body: parameters are numbered {{1}}, {{2}}, ...; found {{%s}}", m[1]))
			continue
		}
		seen[n] = true
	}
	for i := 1; i <= len(seen); i++ {
		if !seen[i] {
			errs = append(errs, fmt.Errorf("body: parameter {{%d}} is missing; parameters must be numbered without gaps", i))
			break
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if h.ProviderName == "" {
		h.ProviderName = h.Name
	}
	h.Params = len(seen)
	return &h, nil
}

// ErrParamCount means a send gave the wrong number of parameters.
var ErrParamCount = errors.New("wrong number of template parameters")

// Render fills the body's parameters, checking their number, for the
// conversation history (the provider renders its own copy).
func (h *HSM) Render(params []string) (string, error) {
	if len(params) != h.Params {
		return "", fmt.Errorf("%s takes %d parameters, got %d: %w", h.Name, h.Params, len(params), ErrParamCount)
	}
	return numbered.ReplaceAllStringFunc(h.Body, func(m string) string {
		n, _ := strconv.Atoi(strings.TrimSpace(m[2 : len(m)-2]))
		return params[n-1]
	}), nil
}
