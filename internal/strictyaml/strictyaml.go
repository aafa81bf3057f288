// Package strictyaml decodes YAML documents strictly (a key the target
// does not declare is an error) and reports every problem by the key's
// dotted path in the document, "http.max_body_byte: unknown key (line 3)",
// rather than by the Go type that lacked a field: the configuration and
// the routing settings are written by people who know the YAML, not the
// code.
package strictyaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Problem is one key of a document that could not be decoded.
type Problem struct {
	// Path is the key's dotted path from the document's root, with
	// [i] for list items: "channels[0].send_rate.burts".
	Path string
	// Line is the key's line in the document, 0 if unknown.
	Line int
	// Msg says what is wrong, e.g. "unknown key".
	Msg string
}

// Error reads "path: msg (line N)", like the other key errors.
func (p *Problem) Error() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s: %s (line %d)", p.Path, p.Msg, p.Line)
	}
	return p.Path + ": " + p.Msg
}

// Decode decodes the document or mapping n into v, refusing keys v does
// not declare, and returns one Problem per unknown key or mistyped value,
// all of them at once. Lines are n's own, so a node tree changed after
// parsing (environment variables expanded) still reports the lines of the
// file it came from. err is for a node that cannot be encoded at all.
func Decode(n *yaml.Node, v any) (problems []*Problem, err error) {
	// yaml checks unknown keys only when decoding from bytes: encode the
	// tree, decode that, then map the encoded lines back to n's keys.
	raw, err := yaml.Marshal(n)
	if err != nil {
		return nil, fmt.Errorf("re-encode yaml: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	err = dec.Decode(v)
	if err == nil || errors.Is(err, io.EOF) {
		return nil, nil
	}
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return nil, fmt.Errorf("decode: %w", err)
	}
	var encoded yaml.Node
	if err := yaml.Unmarshal(raw, &encoded); err != nil {
		return nil, fmt.Errorf("re-parse yaml: %w", err)
	}
	enc := index(&encoded)
	lines := map[string]int{}
	for _, e := range index(n) {
		lines[e.path] = e.keyLine
	}
	used := make([]bool, len(enc))
	claim := func(ok func(entry) bool) (string, bool) {
		for i, e := range enc {
			if !used[i] && ok(e) {
				used[i] = true
				return e.path, true
			}
		}
		return "", false
	}
	// An unknown key is reported at its own line, by name.
	unknown := func(line int, key string) (string, bool) {
		return claim(func(e entry) bool { return e.keyLine == line && e.key == key })
	}
	// A mistyped value is reported at the value's line, without a name:
	// a scalar on that line is likelier than a mapping that starts there
	// ({count: x, per: 1s} is a mistyped count, not a mistyped mapping).
	// When yaml quotes the value (`x`, or its first 7 characters and
	// "..."), only a scalar with that value is the culprit: on a line
	// like {count: 5, burst: x} the first scalar is not.
	mistyped := func(line int, msg string) (string, bool) {
		if v := quoted.FindStringSubmatch(msg); v != nil {
			prefix, cut := strings.CutSuffix(v[1], "...")
			return claim(func(e entry) bool {
				return e.valueLine == line && e.scalar && (e.value == prefix || cut && strings.HasPrefix(e.value, prefix))
			})
		}
		if p, ok := claim(func(e entry) bool { return e.valueLine == line && e.scalar }); ok {
			return p, true
		}
		return claim(func(e entry) bool { return e.valueLine == line })
	}
	for _, msg := range te.Errors {
		if m := unknownField.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			if path, ok := unknown(line, m[2]); ok {
				problems = append(problems, &Problem{Path: path, Line: lines[path], Msg: "unknown key"})
				continue
			}
		}
		if m := atLine.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			if path, ok := mistyped(line, m[2]); ok {
				problems = append(problems, &Problem{Path: path, Line: lines[path], Msg: m[2]})
				continue
			}
			// No key on that line says which: name the line, not a
			// wrong key.
			problems = append(problems, &Problem{Path: "(line " + m[1] + ")", Msg: m[2]})
			continue
		}
		problems = append(problems, &Problem{Path: "(document)", Msg: msg})
	}
	return problems, nil
}

// The messages of yaml.TypeError this package turns into key paths.
var (
	unknownField = regexp.MustCompile(`^line (\d+): field (.+?) not found in type .+$`)
	atLine       = regexp.MustCompile(`^line (\d+): (.+)$`)
	quoted       = regexp.MustCompile("^cannot unmarshal \\S+ `([^`]*)` into ")
)

// entry is one key of a document.
type entry struct {
	path, key          string
	keyLine, valueLine int
	scalar             bool
	value              string // a scalar's value
}

// index lists every mapping key under n, in document order, with its path.
func index(n *yaml.Node) []entry {
	var out []entry
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := k.Value
				if path != "" {
					p = path + "." + p
				}
				out = append(out, entry{path: p, key: k.Value, keyLine: k.Line, valueLine: v.Line, scalar: v.Kind == yaml.ScalarNode, value: v.Value})
				walk(v, p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	walk(n, "")
	return out
}
