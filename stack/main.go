// Command stack is the blog's Pulumi program (Pulumi.yaml: main: stack/).
// Everything lives in package infra, where tests run it under mocks.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/blogstack/blogstack/stack/infra"
)

func main() {
	pulumi.Run(infra.Program)
}
