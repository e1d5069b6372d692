// Package blogstack holds the files the Pulumi stack ships to the EC2 host:
// the production compose file and the host/ folder (bootstrap, deploy, the
// Caddyfile). They live at the repository root, where go:embed in stack/
// cannot reach, so this tiny package embeds them for the stack.
package blogstack

import (
	"embed"
	"io/fs"
)

// ComposeFile is docker-compose.prod.yml, byte for byte.
//
//go:embed docker-compose.prod.yml
var ComposeFile []byte

//go:embed host
var hostFiles embed.FS

// HostFiles returns the host/ folder with paths relative to it ("deploy",
// "bootstrap", "Caddyfile", ...).
func HostFiles() fs.FS {
	sub, err := fs.Sub(hostFiles, "host")
	if err != nil {
		panic(err) // unreachable: "host" is embedded above
	}
	return sub
}
