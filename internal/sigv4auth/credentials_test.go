package sigv4auth

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadCredentials(t *testing.T) {
	t.Parallel()

	tests := map[string]struct {
		content string
		want    map[string]string
	}{
		"INI shared credentials": {
			content: `# written by aws configure
[default]
aws_access_key_id = AKIADEFAULT
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
region = us-east-1

; a named profile, no spaces around '='
[profile ci]
aws_access_key_id=AKIACI
aws_secret_access_key=ci=secret
aws_session_token = ignored
s3 =
    max_concurrent_requests = 20

[only-region]
region = eu-west-1
`,
			want: map[string]string{
				"AKIADEFAULT": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
				"AKIACI":      "ci=secret",
			},
		},
		"INI with CRLF and BOM": {
			content: "\uFEFF[default]\r\nAWS_ACCESS_KEY_ID = AK1\r\naws_secret_access_key = S1\r\n",
			want:    map[string]string{"AK1": "S1"},
		},
		"simple pairs": {
			content: `# Gantry keys
AK1 secret1
AK2:secret/2+x
  AK3	secret3   # trailing comment

AK4: secret:with:colons
AK1 secret1
`,
			want: map[string]string{
				"AK1": "secret1",
				"AK2": "secret/2+x",
				"AK3": "secret3",
				"AK4": "secret:with:colons",
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := LoadCredentials(writeFile(t, tc.content))
			if err != nil {
				t.Fatalf("LoadCredentials: %v", err)
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("LoadCredentials = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLoadCredentialsErrors(t *testing.T) {
	t.Parallel()

	tests := map[string]struct {
		content string
		wantErr string
	}{
		"empty file":                {content: "", wantErr: "no credentials: the file is empty"},
		"only comments":             {content: "# nothing\n\n   \n; nor here\n", wantErr: "the file is empty"},
		"pair without secret":       {content: "AK1 s1\nAK2\n", wantErr: "line 2: want \"ACCESS_KEY_ID SECRET\""},
		"three fields":              {content: "AK1 s1 extra\n", wantErr: "line 1: want \"ACCESS_KEY_ID SECRET\" or \"ACCESS_KEY_ID:SECRET\", got 3 fields"},
		"empty secret after colon":  {content: "\nAK1:\n", wantErr: "line 2: empty secret access key for \"AK1\""},
		"empty key id":              {content: ":secret\n", wantErr: "line 1: empty access key ID"},
		"slash in key id":           {content: "AK/1 secret\n", wantErr: "line 1: access key ID \"AK/1\" contains '/'"},
		"conflicting secrets":       {content: "AK1 s1\n# x\nAK1 s2\n", wantErr: "line 3: access key ID \"AK1\" already has a different secret (line 1)"},
		"INI key before section":    {content: "aws_access_key_id = A\n[default]\n", wantErr: "line 1: \"aws_access_key_id = A\" comes before any [section]"},
		"INI no keys":               {content: "[default]\nregion = us-east-1\n", wantErr: "no section sets aws_access_key_id and aws_secret_access_key"},
		"INI id without secret":     {content: "[default]\naws_access_key_id = AK\n[other]\n", wantErr: "line 1: section [default] sets aws_access_key_id but not aws_secret_access_key"},
		"INI secret without id":     {content: "[x]\n\naws_secret_access_key = S\n", wantErr: "line 1: section [x] sets aws_secret_access_key but not aws_access_key_id"},
		"INI malformed header":      {content: "[default\naws_access_key_id = AK\n", wantErr: "line 1: malformed section header"},
		"INI not key value":         {content: "[default]\naws_access_key_id AK\n", wantErr: "line 2: want \"key = value\""},
		"INI repeated key":          {content: "[d]\naws_access_key_id = A\naws_access_key_id = B\n", wantErr: "line 3: section [d] sets aws_access_key_id twice"},
		"INI repeated section":      {content: "[d]\naws_access_key_id = A\naws_secret_access_key = B\n[d]\n", wantErr: "line 4: section [d] repeats line 1"},
		"INI conflicting secrets":   {content: "[a]\naws_access_key_id = A\naws_secret_access_key = 1\n[b]\naws_access_key_id = A\naws_secret_access_key = 2\n", wantErr: "line 5: access key ID \"A\" already has a different secret (line 2)"},
		"INI empty access key id":   {content: "[a]\naws_access_key_id =\naws_secret_access_key = 1\n", wantErr: "line 2: empty access key ID"},
		"INI empty section name":    {content: "[ ]\n", wantErr: "line 1: empty section name"},
		"pairs then section header": {content: "AK1 s1\n[default]\n", wantErr: "line 1: \"AK1 s1\" comes before any [section]"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, tc.content)
			_, err := LoadCredentials(path)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("LoadCredentials error = %v, want one naming %s and containing %q", err, path, tc.wantErr)
			}
		})
	}

	t.Run("missing file", func(t *testing.T) {
		t.Parallel()
		_, err := LoadCredentials(filepath.Join(t.TempDir(), "nope"))
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("LoadCredentials error = %v, want os.ErrNotExist", err)
		}
	})
}
