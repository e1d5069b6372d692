package infra

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

// MaxUserData is EC2's limit on user-data.
const MaxUserData = 16 * 1024

// MaxDocument is SSM's limit on a document's content.
const MaxDocument = 64 * 1024

// UserData is the instance's user-data: it writes host/bootstrap to disk and
// runs `bootstrap --install`, which only hands it to systemd as
// blog-bootstrap.service. systemd runs it until it succeeds (user-data runs
// once, so a bootstrap run straight from here that failed on a transient
// download would never be retried) and again at every boot. It never carries
// secrets, the compose file or the deploy script: those come with each
// deploy, so changing them never touches the instance.
func UserData(bootstrap []byte, volumeID string) string {
	return "#!/bin/bash\n" +
		"# Written by the blogstack Pulumi program: host/bootstrap for this host.\n" +
		"set -euo pipefail\n" +
		"install -d -m 0755 /opt/blog/host\n" +
		"base64 -d >/opt/blog/host/bootstrap <<'EOF'\n" +
		wrap(base64.StdEncoding.EncodeToString(bootstrap)) +
		"EOF\n" +
		"chmod 0755 /opt/blog/host/bootstrap\n" +
		"exec /opt/blog/host/bootstrap --install '" + volumeID + "'\n"
}

// StackSettings are the non-secret settings host/deploy, host/backup and
// host/restore read from /etc/blog/stack.env.
type StackSettings struct {
	Registry, Domain, AcmeEmail, ParameterPrefix, Region string
	// BackupBucket and BackupPrefix are where host/backup uploads dumps:
	// s3://BackupBucket/BackupPrefix<time>.dump.
	BackupBucket, BackupPrefix string
	// LogGroupPrefix and MetricsNamespace are where the host's containers,
	// scripts and CloudWatch agent send logs and metrics (monitoring.go).
	LogGroupPrefix, MetricsNamespace string
	// MediaURL is the blog's BLOG_MEDIA_URL: the media bucket (MediaURL).
	MediaURL string
	// MediaRoleArn is the role host/media-credentials assumes for the app.
	MediaRoleArn string
	Preview      bool
}

// BackupKeyPrefix is where a stack's database dumps go in its bucket,
// inside the prefix the host's role may write.
func BackupKeyPrefix(stack string) string { return BackupPrefix + stack + "/" }

func (s StackSettings) env() string {
	preview := ""
	if s.Preview {
		preview = "1"
	}
	lines := []string{
		"# Written by each deploy from the Pulumi stack; edit the stack, not this file.",
		"BLOG_REGISTRY=" + s.Registry,
		"BLOG_DOMAIN=" + s.Domain,
		"BLOG_PREVIEW=" + preview,
		"BLOG_ACME_EMAIL=" + s.AcmeEmail,
		"BLOG_SSM_PREFIX=" + s.ParameterPrefix,
		"AWS_REGION=" + s.Region,
		"BLOG_BACKUP_BUCKET=" + s.BackupBucket,
		"BLOG_BACKUP_PREFIX=" + s.BackupPrefix,
		"BLOG_LOG_GROUP_PREFIX=" + s.LogGroupPrefix,
		"BLOG_METRICS_NAMESPACE=" + s.MetricsNamespace,
		"BLOG_MEDIA_URL=" + s.MediaURL,
		"BLOG_MEDIA_ROLE_ARN=" + s.MediaRoleArn,
	}
	for i, l := range lines[1:] {
		lines[i+1] = shellAssign(l)
	}
	return strings.Join(lines, "\n") + "\n"
}

// shellAssign quotes the value of NAME=value so the file is safe to source.
func shellAssign(line string) string {
	name, value, _ := strings.Cut(line, "=")
	return name + "='" + strings.ReplaceAll(value, "'", `'\''`) + "'"
}

// PayloadFile is one file a deploy writes on the host.
type PayloadFile struct {
	Path    string
	Mode    string
	Content []byte
}

// PayloadFiles lists the files each deploy delivers from the repository: the
// compose file and every file of host/. (SettingsFile is added to them.)
func PayloadFiles(compose []byte, host fs.FS) ([]PayloadFile, error) {
	files := []PayloadFile{{Path: "/opt/blog/docker-compose.prod.yml", Mode: "0644", Content: compose}}
	var names []string
	err := fs.WalkDir(host, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	for _, n := range names {
		b, err := fs.ReadFile(host, n)
		if err != nil {
			return nil, err
		}
		mode := "0644"
		if strings.HasPrefix(string(b), "#!") {
			mode = "0755"
		}
		files = append(files, PayloadFile{Path: "/opt/blog/host/" + n, Mode: mode, Content: b})
	}
	return files, nil
}

// SettingsFile is /etc/blog/stack.env for these settings.
func SettingsFile(s StackSettings) PayloadFile {
	return PayloadFile{Path: "/etc/blog/stack.env", Mode: "0644", Content: []byte(s.env())}
}

// payloadEnd closes each file's here-document in the payload; no line of a
// payload file may be exactly this (DeployScript refuses one that is).
const payloadEnd = "BLOG_PAYLOAD_END_OF_FILE"

// DeployScript is the shell the SSM document runs: write every payload file
// (each by rename, so a script that is running keeps its old copy) and run
// host/deploy with the association's image tag. The files travel as one
// gzipped, base64-encoded stream: a shell script of here-documents, one
// per file, which the document unpacks to a temporary file and sources.
// One stream compresses the scripts' shared words once (a fifth smaller
// than gzipping each file apart); SSM limits a document to 64 KB.
func DeployScript(files []PayloadFile) (string, error) {
	var inner strings.Builder
	for _, f := range files {
		c := string(f.Content)
		if !strings.HasSuffix(c, "\n") || strings.Contains("\n"+c, "\n"+payloadEnd+"\n") {
			return "", fmt.Errorf("payload file %s must end with a newline and have no line %q", f.Path, payloadEnd)
		}
		fmt.Fprintf(&inner, "put %s %s <<'%s'\n%s%s\n", f.Path, f.Mode, payloadEnd, c, payloadEnd)
	}
	var b strings.Builder
	b.WriteString("#!/bin/bash\nset -euo pipefail\numask 022\n")
	b.WriteString("install -d -m 0755 /opt/blog/host /etc/blog\n")
	b.WriteString("put() { cat >\"$1.new\"; chmod \"$2\" \"$1.new\"; mv -f \"$1.new\" \"$1\"; }\n")
	b.WriteString("payload=$(mktemp)\n")
	b.WriteString("base64 -d <<'EOF' | gzip -dc >\"$payload\"\n")
	b.WriteString(wrap(base64.StdEncoding.EncodeToString(gzipped([]byte(inner.String())))))
	b.WriteString("EOF\n")
	b.WriteString("# shellcheck source=/dev/null\n. \"$payload\"\nrm -f \"$payload\"\n")
	// The deploy id names the run that asked for this deploy, for the
	// deploy record host/deploy writes to the log group.
	b.WriteString("BLOG_DEPLOY_ID='{{ deployId }}' exec /opt/blog/host/deploy '{{ imageTag }}'\n")
	return b.String(), nil
}

// DeployDocument is the SSM Command document that every deploy association
// runs; its parameters, the image tag and the deploy id, are checked by SSM
// against the patterns the config is (the tag's is Docker's) before anything
// runs.
func DeployDocument(files []PayloadFile, timeoutSecs int) (string, error) {
	script, err := DeployScript(files)
	if err != nil {
		return "", err
	}
	doc := map[string]any{
		"schemaVersion": "2.2",
		"description":   "Deliver the blog's compose file and host scripts, then run host/deploy for one image tag.",
		"parameters": map[string]any{
			"imageTag": map[string]any{
				"type":           "String",
				"description":    "Image tag to deploy (immutable, in the stack's registry).",
				"allowedPattern": imageTag.String(),
			},
			"deployId": map[string]any{
				"type":           "String",
				"description":    "Which run asked for the deploy (<run id>-<attempt>), for the deploy record.",
				"allowedPattern": deployID.String(),
			},
		},
		"mainSteps": []any{map[string]any{
			"action": "aws:runShellScript",
			"name":   "deploy",
			"inputs": map[string]any{
				"timeoutSeconds": fmt.Sprint(timeoutSecs),
				"runCommand":     strings.Split(strings.TrimSuffix(script, "\n"), "\n"),
			},
		}},
	}
	// Compact: the files are most of it, and SSM limits the document to
	// 64 KB (the console shows it indented anyway).
	b, err := json.Marshal(doc)
	if err != nil {
		return "", err
	}
	if len(b) > MaxDocument {
		return "", fmt.Errorf("deploy document is %d bytes, over SSM's %d: the compose file and host/ are too large", len(b), MaxDocument)
	}
	return string(b), nil
}

// PayloadHash identifies a payload; it goes into the association's name so a
// changed compose file or script is deployed even when the tag is the same.
func PayloadHash(files []PayloadFile) string {
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s %s %d\n", f.Path, f.Mode, len(f.Content))
		h.Write(f.Content)
	}
	return hex.EncodeToString(h.Sum(nil))[:10]
}

// gzipped compresses b with a zero header (no name, no time), so the same
// files always give the same document.
func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // error only for a bad level
	_, _ = w.Write(b)                                       // writes to a bytes.Buffer do not fail
	_ = w.Close()
	return buf.Bytes()
}

func wrap(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\n")
		s = s[76:]
	}
	if s != "" {
		b.WriteString(s + "\n")
	}
	return b.String()
}
