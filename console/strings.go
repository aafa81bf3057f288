package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Languages are the console's languages, in the order the language menu
// lists them: those of the teams Switchboard is for.
var Languages = []string{"en", "es", "pt-BR", "id"}

// Strings maps a language to its strings by key.
type Strings map[string]map[string]string

var placeholder = regexp.MustCompile(`\{[a-z_]+\}`)

// LoadStrings reads every strings/*.json (one per screen, each holding
// every language, so whoever adds a string adds it in all four) and
// merges them. It fails naming the file and key when a key is defined
// twice, missing or empty in a language, or when a translation's
// {placeholders} differ from the English string's.
func LoadStrings() (Strings, error) {
	out := Strings{}
	for _, l := range Languages {
		out[l] = map[string]string{}
	}
	files, err := fs.Glob(stringsFS, "strings/*.json")
	if err != nil {
		return nil, fmt.Errorf("console strings: %w", err)
	}
	sort.Strings(files)
	var problems []error
	for _, f := range files {
		b, err := fs.ReadFile(stringsFS, f)
		if err != nil {
			return nil, fmt.Errorf("console strings: %w", err)
		}
		var doc Strings
		if err := json.Unmarshal(b, &doc); err != nil {
			return nil, fmt.Errorf("console strings %s: %w", f, err)
		}
		for l := range doc {
			if !slices.Contains(Languages, l) {
				problems = append(problems, fmt.Errorf("%s: unknown language %q", f, l))
			}
		}
		for key, en := range doc["en"] {
			want := placeholders(en)
			for _, l := range Languages {
				s, ok := doc[l][key]
				switch {
				case !ok || strings.TrimSpace(s) == "":
					problems = append(problems, fmt.Errorf("%s: %q has no %s string", f, key, l))
					continue
				case !slices.Equal(placeholders(s), want):
					problems = append(problems, fmt.Errorf("%s: %q in %s has placeholders %v, English has %v", f, key, l, placeholders(s), want))
				}
				if _, dup := out[l][key]; dup {
					problems = append(problems, fmt.Errorf("%s: %q is defined in another file too", f, key))
					continue
				}
				out[l][key] = s
			}
		}
		for _, l := range Languages[1:] {
			for key := range doc[l] {
				if _, ok := doc["en"][key]; !ok {
					problems = append(problems, fmt.Errorf("%s: %q exists in %s but not in English", f, key, l))
				}
			}
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("console strings: %w", errors.Join(problems...))
	}
	return out, nil
}

func placeholders(s string) []string {
	p := placeholder.FindAllString(s, -1)
	sort.Strings(p)
	return slices.Compact(p)
}
