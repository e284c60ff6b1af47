// Package sdktest drives the Microsoft Graph subset with the unmodified
// Microsoft Graph SDK for Go (msgraph-sdk-go). It is a package of its own
// because that SDK is large to compile: only this test pays for it.
package sdktest
