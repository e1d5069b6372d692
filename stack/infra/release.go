package infra

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Previous is what the stack recorded about itself in its last successful
// `pulumi up`: the release that runs and where the host lives. It is read
// from the stack's own outputs, so the image tag is state, not committed
// config, and choices made once (the subnet, the AMI) stay made.
type Previous struct {
	ImageTag, DeployID string
	SubnetID, AZ       string
	AmiID              string
	DataSnapshotID     string
}

// Output names the program exports and reads back through Previous.
const (
	OutputImageTag = "imageTag"
	OutputDeployID = "deployId"
	OutputSubnetID = "subnetId"
	OutputAZ       = "availabilityZone"
	OutputAmiID    = "amiId"
	// OutputDataSnapshotID is the snapshot the data volume was created
	// from, if any: kept, so that dropping blogstack:dataSnapshotId from the
	// config after a move does not replace the volume.
	OutputDataSnapshotID = "dataSnapshotId"
)

// ReadPrevious reads the stack's own last outputs through a StackReference
// to itself. The engine serves a stack reference from the backend's last
// checkpoint (the DIY backend reads the stack's checkpoint file; during an
// update the root stack resource keeps its old outputs until the program
// finishes). A stack that was only `pulumi stack init`ed has no outputs: every
// field is then empty, which means "first creation".
func ReadPrevious(ctx *pulumi.Context) (Previous, error) {
	self := ctx.Organization() + "/" + ctx.Project() + "/" + ctx.Stack()
	ref, err := pulumi.NewStackReference(ctx, self, nil)
	if err != nil {
		return Previous{}, err
	}
	get := func(name string) (string, error) {
		d, err := ref.GetOutputDetails(name)
		if err != nil {
			return "", fmt.Errorf("reading this stack's last output %s: %w", name, err)
		}
		if d.Value == nil {
			return "", nil
		}
		s, ok := d.Value.(string)
		if !ok {
			return "", fmt.Errorf("this stack's last output %s is %T, not a string", name, d.Value)
		}
		return s, nil
	}
	var p Previous
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{OutputImageTag, &p.ImageTag}, {OutputDeployID, &p.DeployID},
		{OutputSubnetID, &p.SubnetID}, {OutputAZ, &p.AZ}, {OutputAmiID, &p.AmiID},
		{OutputDataSnapshotID, &p.DataSnapshotID},
	} {
		if *f.dst, err = get(f.name); err != nil {
			return Previous{}, err
		}
	}
	return p, nil
}

// Release is the image tag and deploy id one `pulumi up` declares an
// association for; both empty means no association.
type Release struct {
	ImageTag, DeployID string
}

// ResolveRelease decides what to deploy from the config and the last
// outputs:
//   - tag and id given (the deploy workflow): that release;
//   - only the tag, and it is the running one (a pull request's diff of
//     prod passes the running tag): the running release, unchanged;
//   - neither (a local `pulumi up`): the running release, unchanged, or no
//     association at all before the first release;
//   - a new tag without an id: refused, because the id is what makes a
//     retry of the same tag run again.
func ResolveRelease(cfg Config, prev Previous) (Release, error) {
	running := Release{}
	if prev.ImageTag != "" && prev.DeployID != "" {
		running = Release{prev.ImageTag, prev.DeployID}
	}
	switch {
	case cfg.ImageTag == "":
		return running, nil
	case cfg.DeployID != "":
		return Release{cfg.ImageTag, cfg.DeployID}, nil
	case cfg.ImageTag == running.ImageTag:
		return running, nil
	}
	return Release{}, fmt.Errorf("config %s:deployId is required with a new %s:imageTag %q (the deploy workflow passes <run id>-<attempt>; by hand use any new id, e.g. manual-$(date +%%s))",
		cfg.Project, cfg.Project, cfg.ImageTag)
}
