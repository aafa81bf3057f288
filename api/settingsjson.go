package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// The settings document is YAML, validated by one strict decoder. The
// coordinator's screens edit it as JSON, so it is converted both ways
// generically, by the shape of the tree and not by settings.Document's
// fields: no key is dropped or renamed on the way, an unknown or
// misspelt one reaches the strict decoder and is refused there by name,
// and a key added to the settings needs no change here. Keys keep their
// order both ways. What JSON cannot carry, YAML comments, is lost when a
// document is written back as JSON.

// errNotObject refuses a settings document that is not a JSON object.
var errNotObject = errors.New("document must be a JSON object")

// yamlToJSON converts a YAML document to JSON; an empty document is {}.
func yamlToJSON(doc []byte) (json.RawMessage, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return nil, fmt.Errorf("settings document: parse yaml: %w", err)
	}
	if root.Kind == 0 {
		return json.RawMessage("{}"), nil
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, &root); err != nil {
		return nil, fmt.Errorf("settings document as json: %w", err)
	}
	return buf.Bytes(), nil
}

// writeJSON writes the value of n as JSON.
func writeJSON(buf *bytes.Buffer, n *yaml.Node) error {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			buf.WriteString("null")
			return nil
		}
		return writeJSON(buf, n.Content[0])
	case yaml.AliasNode:
		return writeJSON(buf, n.Alias)
	case yaml.MappingNode:
		pairs, err := mappingPairs(n, 0)
		if err != nil {
			return err
		}
		buf.WriteByte('{')
		for i, p := range pairs {
			if i > 0 {
				buf.WriteByte(',')
			}
			key, _ := json.Marshal(p[0].Value)
			buf.Write(key)
			buf.WriteByte(':')
			if err := writeJSON(buf, p[1]); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSON(buf, c); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case yaml.ScalarNode:
		// Decoded as YAML types it: 3 a number, true a boolean, 24h and
		// 2026-12-25 strings (durations and dates are strings to yaml.v3).
		var v any
		if err := n.Decode(&v); err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		b, err := json.Marshal(v)
		if err != nil { // .inf, .nan: no JSON number; kept as written
			b, _ = json.Marshal(n.Value)
		}
		buf.Write(b)
	default:
		return fmt.Errorf("line %d: unexpected yaml node kind %d", n.Line, n.Kind)
	}
	return nil
}

// maxMergeDepth bounds merge keys nested in merged mappings, which the
// parser would let refer to each other in a chain as long as the document.
const maxMergeDepth = 32

// mappingPairs are n's key/value pairs with its merge keys ("<<: *base",
// "<<: [*a, *b]") applied as YAML does: a merged key is taken unless the
// mapping sets it itself or an earlier merged mapping gave it. JSON has no
// merge key, and a "<<" written into the JSON would come back as a key
// named "<<", which the strict decoder refuses: without this a document
// using one could be read as JSON but never saved back.
func mappingPairs(n *yaml.Node, depth int) ([][2]*yaml.Node, error) {
	if depth > maxMergeDepth {
		return nil, fmt.Errorf("line %d: merge keys nested too deep", n.Line)
	}
	isMerge := func(k *yaml.Node) bool { return k.Kind == yaml.ScalarNode && k.Tag == "!!merge" }
	own := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if !isMerge(n.Content[i]) {
			own[n.Content[i].Value] = true
		}
	}
	var out [][2]*yaml.Node
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !isMerge(k) {
			out = append(out, [2]*yaml.Node{k, v})
			seen[k.Value] = true
			continue
		}
		sources := []*yaml.Node{v}
		if deref(v).Kind == yaml.SequenceNode {
			sources = deref(v).Content
		}
		for _, src := range sources {
			src = deref(src)
			if src.Kind != yaml.MappingNode {
				return nil, fmt.Errorf("line %d: a merge key takes a mapping or a list of mappings", k.Line)
			}
			merged, err := mappingPairs(src, depth+1)
			if err != nil {
				return nil, err
			}
			for _, p := range merged {
				if !own[p[0].Value] && !seen[p[0].Value] {
					out = append(out, p)
					seen[p[0].Value] = true
				}
			}
		}
	}
	return out, nil
}

// deref is the node an alias names, or n.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// jsonToYAML converts a JSON object to a YAML document, block style.
func jsonToYAML(doc json.RawMessage) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	n, err := jsonNode(dec)
	if err != nil {
		return nil, err
	}
	if n.Kind != yaml.MappingNode {
		return nil, errNotObject
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("document: one JSON object expected")
	}
	out, err := yaml.Marshal(n)
	if err != nil {
		return nil, fmt.Errorf("settings document as yaml: %w", err)
	}
	return out, nil
}

// jsonNode reads one JSON value from dec as a YAML node. Strings stay
// strings whatever they look like ("123", "yes"): the encoder quotes
// those that would read back as something else.
func jsonNode(dec *json.Decoder) (*yaml.Node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("document: %w", err)
	}
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, fmt.Errorf("document: %w", err)
				}
				key, _ := kt.(string) // json.Decoder yields object keys as strings
				val, err := jsonNode(dec)
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, val)
			}
			_, err := dec.Token() // '}'
			return n, err
		case '[':
			n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
			for dec.More() {
				val, err := jsonNode(dec)
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, val)
			}
			_, err := dec.Token() // ']'
			return n, err
		}
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}, nil
	case json.Number:
		tag := "!!float"
		if _, err := strconv.ParseInt(v.String(), 10, 64); err == nil {
			tag = "!!int"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v.String()}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v)}, nil
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	}
	return nil, fmt.Errorf("document: unexpected %v", tok)
}

// yamlLines are the " (line N)" of a settings error: lines of the YAML
// made from a JSON document, which the person who wrote the JSON never
// saw; the key path before them says where the mistake is.
var yamlLines = regexp.MustCompile(` \(line \d+\)`)
