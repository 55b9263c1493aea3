#pragma once
// What the data tests share: catching the error a call throws, and checking its message.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "condense/core/error.hpp"

// The message of the InputError or IoError `action` throws; a test failure if it throws none.
inline std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const condense::InputError& error) {
    return error.what();
  } catch (const condense::IoError& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected an InputError or IoError";
  return "";
}

#define EXPECT_CONTAINS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << "message: " << (text)
