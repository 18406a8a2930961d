/**
 * The part of the ONNX protobuf schema (onnx/onnx.proto3, IR version 8) that an exported model
 * uses, with the field numbers of the standard; protobufjs parses it and does the encoding.
 * Messages and fields the exporter never writes are left out; every one kept has the standard's
 * name, number and type, so any ONNX reader decodes the file.
 */
import protobuf from "protobufjs";

const SCHEMA = `
syntax = "proto3";
package onnx;

message AttributeProto {
  enum AttributeType { UNDEFINED = 0; FLOAT = 1; INT = 2; }
  string name = 1;
  float f = 2;
  int64 i = 3;
  AttributeType type = 20;
}

message ValueInfoProto {
  string name = 1;
  TypeProto type = 2;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  string name = 3;
  string op_type = 4;
  repeated AttributeProto attribute = 5;
  string domain = 7;
}

message ModelProto {
  int64 ir_version = 1;
  string producer_name = 2;
  string doc_string = 6;
  GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
}

message GraphProto {
  repeated NodeProto node = 1;
  string name = 2;
  repeated TensorProto initializer = 5;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
}

message TensorProto {
  enum DataType { UNDEFINED = 0; FLOAT = 1; }
  repeated int64 dims = 1;
  int32 data_type = 2;
  string name = 8;
  bytes raw_data = 9;
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
  }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    int32 elem_type = 1;
    TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
}

message OperatorSetIdProto {
  string domain = 1;
  int64 version = 2;
}
`;

/** The ModelProto message type. */
export const ModelProto: protobuf.Type = protobuf.parse(SCHEMA, { keepCase: true }).root.lookupType("onnx.ModelProto");

/** TensorProto.DataType.FLOAT. */
export const FLOAT = 1;

/** AttributeProto.AttributeType values used by the exporter. */
export const ATTRIBUTE_FLOAT = 1;
export const ATTRIBUTE_INT = 2;
