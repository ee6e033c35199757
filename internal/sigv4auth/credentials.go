package sigv4auth

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// LoadCredentials reads the access keys Gantry accepts from path and returns
// them as a map from access key ID to secret access key.
//
// Two formats are understood; a file with a "[section]" header line is read
// as the first, any other file as the second.
//
//  1. The AWS shared-credentials INI format (~/.aws/credentials):
//
//     [default]
//     aws_access_key_id = AKIAEXAMPLE
//     aws_secret_access_key = wJalrXUtnFEMI/K7MDENG
//
//     Every section ("[name]" or "[profile name]") that sets
//     aws_access_key_id must also set aws_secret_access_key and vice versa;
//     sections with neither (say, only a region) are ignored, as are other
//     keys. Lines starting with '#' or ';' are comments.
//
//  2. One pair per line, "ACCESS_KEY_ID SECRET" or "ACCESS_KEY_ID:SECRET".
//     Blank lines and everything from a '#' at the start of a line or after
//     a space are ignored.
//
// Errors name the file and line. A file without any key, or one that gives the
// same access key ID two different secrets, is an error.
func LoadCredentials(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read credentials: %w", err)
	}
	creds, err := parseCredentials(string(data))
	if err != nil {
		return nil, fmt.Errorf("credentials file %s: %w", path, err)
	}
	return creds, nil
}

// credentialLine is one meaningful line of a credentials file: its number
// (1-based) and its text with surrounding blanks removed.
type credentialLine struct {
	n    int
	text string
	// indented reports a line starting with blanks (an INI continuation).
	indented bool
}

func parseCredentials(data string) (map[string]string, error) {
	data = strings.TrimPrefix(data, "\uFEFF")
	var lines []credentialLine
	for i, raw := range strings.Split(data, "\n") {
		raw = strings.TrimRight(raw, "\r")
		text := strings.TrimSpace(raw)
		if text == "" || text[0] == '#' || text[0] == ';' {
			continue
		}
		lines = append(lines, credentialLine{n: i + 1, text: text, indented: raw[0] == ' ' || raw[0] == '\t'})
	}
	if len(lines) == 0 {
		return nil, errors.New("no credentials: the file is empty")
	}

	b := credentialBuilder{creds: map[string]string{}, lineOf: map[string]int{}}
	var err error
	if slices.ContainsFunc(lines, func(l credentialLine) bool { return strings.HasPrefix(l.text, "[") }) {
		err = b.parseINI(lines)
	} else {
		err = b.parsePairs(lines)
	}
	if err != nil {
		return nil, err
	}
	if len(b.creds) == 0 {
		return nil, errors.New("no credentials: no section sets aws_access_key_id and aws_secret_access_key")
	}
	return b.creds, nil
}

type credentialBuilder struct {
	creds  map[string]string
	lineOf map[string]int // access key ID -> line that defined it
}

func (b *credentialBuilder) add(n int, id, secret string) error {
	if err := validateAccessKeyID(id); err != nil {
		return fmt.Errorf("line %d: %w", n, err)
	}
	if secret == "" {
		return fmt.Errorf("line %d: empty secret access key for %q", n, id)
	}
	if old, ok := b.creds[id]; ok && old != secret {
		return fmt.Errorf("line %d: access key ID %q already has a different secret (line %d)", n, id, b.lineOf[id])
	}
	b.creds[id] = secret
	b.lineOf[id] = n
	return nil
}

// validateAccessKeyID rejects IDs that could not appear in a SigV4
// Credential= parameter.
func validateAccessKeyID(id string) error {
	if id == "" {
		return errors.New("empty access key ID")
	}
	if i := strings.IndexAny(id, "/,=: \t"); i >= 0 {
		return fmt.Errorf("access key ID %q contains %q", id, id[i])
	}
	return nil
}

func (b *credentialBuilder) parsePairs(lines []credentialLine) error {
	for _, l := range lines {
		text := l.text
		if i := strings.Index(text, " #"); i >= 0 {
			text = strings.TrimSpace(text[:i])
		}
		if i := strings.Index(text, "\t#"); i >= 0 {
			text = strings.TrimSpace(text[:i])
		}
		const usage = "want \"ACCESS_KEY_ID SECRET\" or \"ACCESS_KEY_ID:SECRET\""
		var id, secret string
		colon, blank := strings.IndexByte(text, ':'), strings.IndexAny(text, " \t")
		switch {
		case colon >= 0 && (blank < 0 || colon < blank):
			id, secret = strings.TrimSpace(text[:colon]), strings.TrimSpace(text[colon+1:])
		case blank >= 0:
			fields := strings.Fields(text)
			if len(fields) != 2 {
				return fmt.Errorf("line %d: %s, got %d fields", l.n, usage, len(fields))
			}
			id, secret = fields[0], fields[1]
		default:
			return fmt.Errorf("line %d: %s, got a single word", l.n, usage)
		}
		if err := b.add(l.n, id, secret); err != nil {
			return err
		}
	}
	return nil
}

// iniSection collects the two keys Gantry reads from one INI section.
type iniSection struct {
	name             string
	line             int
	id, secret       string
	idLine, secretLn int
}

func (b *credentialBuilder) parseINI(lines []credentialLine) error {
	var cur *iniSection
	seen := map[string]int{}
	flush := func() error {
		if cur == nil {
			return nil
		}
		switch {
		case cur.idLine == 0 && cur.secretLn == 0:
			return nil // a section without keys, e.g. only a region
		case cur.idLine == 0:
			return fmt.Errorf("line %d: section [%s] sets aws_secret_access_key but not aws_access_key_id", cur.line, cur.name)
		case cur.secretLn == 0:
			return fmt.Errorf("line %d: section [%s] sets aws_access_key_id but not aws_secret_access_key", cur.line, cur.name)
		}
		return b.add(cur.idLine, cur.id, cur.secret)
	}

	lastValueEmpty := false
	for _, l := range lines {
		if strings.HasPrefix(l.text, "[") {
			if !strings.HasSuffix(l.text, "]") {
				return fmt.Errorf("line %d: malformed section header %q", l.n, l.text)
			}
			name := strings.TrimSpace(l.text[1 : len(l.text)-1])
			if name == "" {
				return fmt.Errorf("line %d: empty section name", l.n)
			}
			if prev, ok := seen[name]; ok {
				return fmt.Errorf("line %d: section [%s] repeats line %d", l.n, name, prev)
			}
			seen[name] = l.n
			if err := flush(); err != nil {
				return err
			}
			cur = &iniSection{name: name, line: l.n}
			lastValueEmpty = false
			continue
		}
		if l.indented && lastValueEmpty {
			continue // nested value of a key such as "s3 =", irrelevant here
		}
		if cur == nil {
			return fmt.Errorf("line %d: %q comes before any [section]", l.n, l.text)
		}
		key, value, ok := strings.Cut(l.text, "=")
		if !ok {
			return fmt.Errorf("line %d: want \"key = value\", got %q", l.n, l.text)
		}
		key, value = strings.ToLower(strings.TrimSpace(key)), strings.TrimSpace(value)
		lastValueEmpty = value == ""
		switch key {
		case "aws_access_key_id":
			if cur.idLine != 0 {
				return fmt.Errorf("line %d: section [%s] sets aws_access_key_id twice", l.n, cur.name)
			}
			cur.id, cur.idLine = value, l.n
		case "aws_secret_access_key":
			if cur.secretLn != 0 {
				return fmt.Errorf("line %d: section [%s] sets aws_secret_access_key twice", l.n, cur.name)
			}
			cur.secret, cur.secretLn = value, l.n
		}
	}
	return flush()
}
