"""User profiles in DynamoDB, keyed by the token's ``sub``."""

from __future__ import annotations

from cloudshelf.errors import NotFound
from cloudshelf.models.users import UserProfile
from cloudshelf.repositories.dynamodb.client import dynamodb_client, error_code, translated_errors
from cloudshelf.repositories.dynamodb.codec import from_item, s, to_item


class DynamoUserRepository:
    """UserRepository on one table with key ``userId``."""

    def __init__(self, table: str) -> None:
        self.table = table

    def get(self, user_id: str) -> UserProfile | None:
        with translated_errors():
            item = dynamodb_client().get_item(TableName=self.table, Key={"userId": s(user_id)}).get("Item")
        return UserProfile.model_validate(from_item(item)) if item else None

    def create(self, profile: UserProfile) -> UserProfile:
        if self._put(profile, "attribute_not_exists(userId)"):
            return profile
        existing = self.get(profile.userId)  # created meanwhile by a parallel first request
        if existing is None:
            raise NotFound("the profile was removed while it was being created")
        return existing

    def update(self, profile: UserProfile) -> None:
        if not self._put(profile, "attribute_exists(userId)"):
            raise NotFound("no such user")

    def _put(self, profile: UserProfile, condition: str) -> bool:
        """Put the profile if ``condition`` holds; False if it did not."""
        from botocore.exceptions import ClientError

        try:
            with translated_errors():
                dynamodb_client().put_item(
                    TableName=self.table, Item=to_item(profile.model_dump(mode="json")), ConditionExpression=condition
                )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True
