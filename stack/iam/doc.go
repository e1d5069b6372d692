// Package iam holds the AWS IAM policy files of the pipeline's two roles and
// of the permissions boundary of every role the stack creates. Its tests check
// them against the AWS Service Authorization Reference and simulate the
// requests each role must and must not be able to make (check.mjs).
package iam
