package repository

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"switchboard/routing"
)

// Search terms (contact_terms) are what List's Search matches by prefix:
// the folded words of a contact's names and the suffixes of its phone
// digits.
const (
	// minPhoneTerm is the shortest phone suffix kept: shorter ones would
	// match most numbers.
	minPhoneTerm = 4
	// maxTermBytes bounds a term; a search word is cut the same way, so a
	// long word still finds its term.
	maxTermBytes = 64
	// maxSearchWords bounds the words of one search, and so its statement.
	maxSearchWords = 8
)

// words splits text into folded words: runs of letters and digits, so
// "Ana-María" is "ana" and "maria".
func words(text string) []string {
	return strings.FieldsFunc(routing.Fold(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// digits returns the ASCII digits of s.
func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// cut shortens a term to maxTermBytes on a rune boundary.
func cut(term string) string {
	if len(term) <= maxTermBytes {
		return term
	}
	n := maxTermBytes
	for n > 0 && !utf8.RuneStart(term[n]) {
		n--
	}
	return term[:n]
}

// contactTerms returns a contact's search terms: the words of its
// profile and display names, and every suffix of at least minPhoneTerm
// digits of its id on the channel (a phone number), so any run of
// minPhoneTerm or more digits of the number is a prefix of one of them.
func contactTerms(profileName, displayName, externalID string) []string {
	var terms []string
	for _, w := range append(words(profileName), words(displayName)...) {
		terms = append(terms, cut(w))
	}
	d := digits(externalID)
	for i := 0; len(d)-i >= minPhoneTerm; i++ {
		terms = append(terms, cut(d[i:]))
	}
	slices.Sort(terms)
	return slices.Compact(terms)
}

// setTerms replaces a contact's search terms with terms.
func setTerms(ctx context.Context, tx *sql.Tx, contactID string, terms []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM contact_terms WHERE contact_id = $1`, contactID); err != nil {
		return err
	}
	if len(terms) == 0 {
		return nil
	}
	var a args
	var b strings.Builder
	b.WriteString(`INSERT INTO contact_terms (term, contact_id) VALUES `)
	id := a.add(contactID)
	for i, t := range terms {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(" + a.add([]byte(t)) + ", " + id + ")")
	}
	_, err := tx.ExecContext(ctx, b.String(), a...)
	return err
}

// isPhoneLike reports whether a search is a phone number as people type
// one: digits with spaces, +, -, dots or parentheses.
func isPhoneLike(s string) bool {
	seen := false
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			seen = true
		case r == ' ' || r == '+' || r == '-' || r == '.' || r == '(' || r == ')' || r == '\t':
		default:
			return false
		}
	}
	return seen
}

// searchWords returns the prefixes a search must all match: "+55 11
// 9123" is one, "55119123", as a number is stored as digits; other text
// is its folded words.
func searchWords(s string) []string {
	if isPhoneLike(s) {
		return []string{cut(digits(s))}
	}
	ws := words(s)
	for i := range ws {
		ws[i] = cut(ws[i])
	}
	slices.Sort(ws)
	ws = slices.Compact(ws)
	if len(ws) > maxSearchWords {
		// The longest words narrow the most.
		slices.SortStableFunc(ws, func(a, b string) int { return len(b) - len(a) })
		ws = ws[:maxSearchWords]
	}
	return ws
}

// prefixRange returns the bounds [lo, hi) of the terms starting with w.
// Terms are UTF-8, which never holds the byte 0xFF, so w followed by it
// is above every term starting with w and below every greater one.
func prefixRange(w string) (lo, hi []byte) {
	lo = []byte(w)
	hi = append([]byte(w), 0xFF)
	return lo, hi
}
